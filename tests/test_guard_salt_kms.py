"""The salt key's encryption and replicas are the salt key (issue 20): a pull request that removes
one of its replica regions, points it at another KMS key, or weakens that key (its policy, its
deletion or replacement policy, disabling it, its removal) is blocked like a change to the salt
itself, whatever the approvals. Base and head are trees a pull request could produce from the
generator's own shape (aws_secrets: SecretsKey, KmsKeyId GetAtt, ReplicaRegions with the key's
replica ARN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from guard_build import Rendered
from test_guard import approve_many, categories, guard

REPLICA = "arn:${AWS::Partition}:kms:{region}:${AWS::AccountId}:key/${SecretsKey}"
POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "AdministerNotUse", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
     "Action": ["kms:Describe*", "kms:Put*"], "Resource": "*"},
    {"Sid": "DecryptOnlyForTheRolesThatNeedIt", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::444455556666:role/prod-external-secrets-role"]},
     "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]}


def _replicas(*regions: str) -> list[dict[str, Any]]:
    return [{"Region": r, "KmsKeyId": {"Fn::Sub": REPLICA.replace("{region}", r)}} for r in regions]


def _with_key(t: Rendered) -> None:
    """The generator's shape: the stack's multi-Region key; salt and master under it, replicated."""
    lid, _ = t.cfn_secret("LITELLM_SALT_KEY")
    t.template_of(lid)["Resources"]["SecretsKey"] = {
        "Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {"Description": "salt and master keys", "MultiRegion": True, "EnableKeyRotation": True,
                       "PendingWindowInDays": 30, "KeyPolicy": POLICY}}
    for var in ("LITELLM_SALT_KEY", "LITELLM_MASTER_KEY"):
        props = t.cfn_secret(var)[1]["Properties"]
        props["KmsKeyId"] = {"Fn::GetAtt": ["SecretsKey", "Arn"]}
        props["ReplicaRegions"] = _replicas("eu-central-1", "eu-north-1")


def _salt(t: Rendered) -> dict[str, Any]:
    return t.cfn_secret("LITELLM_SALT_KEY")[1]


def _key(t: Rendered) -> dict[str, Any]:
    return t.resource("SecretsKey")


def _add_decrypter(t: Rendered) -> None:
    _key(t)["Properties"]["KeyPolicy"]["Statement"][1]["Principal"]["AWS"].append("arn:aws:iam::999999999999:root")


KEY_ROUTES: dict[str, Callable[[Rendered], Any]] = {
    "a replica region removed": lambda t: _salt(t)["Properties"].__setitem__("ReplicaRegions", _replicas("eu-central-1")),
    "every replica removed": lambda t: _salt(t)["Properties"].pop("ReplicaRegions"),
    "a replica under another key": lambda t: _salt(t)["Properties"]["ReplicaRegions"][1].__setitem__(
        "KmsKeyId", "arn:aws:kms:eu-north-1:999999999999:key/mrk-00000000000000000000000000000000"),
    "KmsKeyId another key": lambda t: _salt(t)["Properties"].__setitem__(
        "KmsKeyId", "arn:aws:kms:eu-west-1:999999999999:key/mrk-00000000000000000000000000000000"),
    "KmsKeyId removed (AWS managed key)": lambda t: _salt(t)["Properties"].pop("KmsKeyId"),
    "key deletion policy": lambda t: _key(t).__setitem__("DeletionPolicy", "Delete"),
    "key replace policy": lambda t: _key(t).pop("UpdateReplacePolicy"),
    "key disabled": lambda t: _key(t)["Properties"].__setitem__("Enabled", False),
    "key policy lets another account decrypt": _add_decrypter,
    "key pending window shortened": lambda t: _key(t)["Properties"].__setitem__("PendingWindowInDays", 7),
    "key no longer multi-Region": lambda t: _key(t)["Properties"].__setitem__("MultiRegion", False),
    "key removed": lambda t: t.template_of("SecretsKey")["Resources"].pop("SecretsKey"),
}


@pytest.mark.parametrize("route", sorted(KEY_ROUTES))
def test_salt_key_encryption_and_replicas_are_guarded_like_the_salt(route: str, tmp_path: Path, github) -> None:
    approve_many(github)
    base = Rendered.minimal().edit(_with_key)
    code, report = guard(tmp_path, base, base.edit(KEY_ROUTES[route]))
    assert code == 1, report
    assert "salt-key" in categories(report), report
    assert not any(r.startswith("GET") for r in github.paths), "a blocked change must not need GitHub"


def test_the_keys_description_and_tags_are_not_the_salt(tmp_path: Path, github) -> None:
    """What reaches neither the salt's value nor who can read it does not block."""
    base = Rendered.minimal().edit(_with_key)

    def cosmetic(t: Rendered) -> None:
        _key(t)["Properties"]["Description"] = "encrypts the salt and master keys"
        _key(t)["Properties"]["Tags"] = [{"Key": "team", "Value": "platform"}]
        _key(t)["Properties"]["RotationPeriodInDays"] = 180  # new material; the old still decrypts
    code, report = guard(tmp_path, base, base.edit(cosmetic))
    assert "salt-key" not in categories(report), report


def _add_replica(region: str, key: str = "SecretsKey") -> Callable[[Rendered], Any]:
    def edit(t: Rendered) -> None:
        entry = {"Region": region, "KmsKeyId": {"Fn::Sub": REPLICA.replace("{region}", region).replace("SecretsKey", key)}}
        _salt(t)["Properties"]["ReplicaRegions"].append(entry)
    return edit


def test_one_more_replica_under_the_keys_own_replica_needs_two_approvals(tmp_path: Path, github) -> None:
    """Promoting an environment to prod adds a replica region: the salt's value and who can
    decrypt it do not change, so it is not the salt (blocked) but needs two approvals."""
    base = Rendered.minimal().edit(_with_key)
    head = base.edit(_add_replica("eu-south-1"))
    code, report = guard(tmp_path, base, head)
    assert code == 1 and categories(report) == {"salt-replica-added"}, report
    approve_many(github)
    code, report = guard(tmp_path, base, head)
    assert code == 0, report


@pytest.mark.parametrize("edit", [
    pytest.param(lambda t: _add_replica("eu-south-1", key="AttackerKey")(t), id="under another key"),
    pytest.param(lambda t: _salt(t)["Properties"]["ReplicaRegions"].append(
        {"Region": "eu-south-1", "KmsKeyId": {"Fn::Sub": REPLICA.replace("{region}", "us-east-1")}}), id="key of another region"),
    pytest.param(lambda t: _salt(t)["Properties"]["ReplicaRegions"].insert(
        0, {"Region": "eu-south-1", "KmsKeyId": {"Fn::Sub": REPLICA.replace("{region}", "eu-south-1")}}), id="inserted first"),
])
def test_a_replica_added_any_other_way_is_the_salt(edit: Callable[[Rendered], Any], tmp_path: Path, github) -> None:
    approve_many(github)
    base = Rendered.minimal().edit(_with_key)
    code, report = guard(tmp_path, base, base.edit(edit))
    assert code == 1 and "salt-key" in categories(report), report
