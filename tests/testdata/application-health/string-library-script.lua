hs = {}
hs.status = "Progressing"
hs.message = "Waiting for the application to be Synced and Healthy"
local function is_commit(revision)
  local length = type(revision) == "string" and string.len(revision) or 0
  return (length == 40 or length == 64) and string.match(revision, "^[0-9a-f]+$") ~= nil
end
local function waiting_for_revision(spec, sync)
  if spec == nil then
    return nil
  end
  if spec.source ~= nil and is_commit(spec.source.targetRevision) and sync.revision ~= spec.source.targetRevision then
    return spec.source.targetRevision
  end
  if spec.sources ~= nil then
    for i, source in ipairs(spec.sources) do
      if is_commit(source.targetRevision) and (sync.revisions == nil or sync.revisions[i] ~= source.targetRevision) then
        return source.targetRevision
      end
    end
  end
  return nil
end
if obj.status ~= nil and obj.status.health ~= nil then
  local health = obj.status.health.status
  local sync = "Unknown"
  local synced = obj.status.sync or {}
  if synced.status ~= nil then
    sync = synced.status
  end
  local pending = waiting_for_revision(obj.spec, synced)
  if health == "Degraded" or health == "Suspended" or health == "Missing" then
    hs.status = health
    hs.message = "Application is " .. health .. " (sync: " .. sync .. ")"
  elseif pending ~= nil then
    hs.message = "Waiting for the application to sync revision " .. pending
  elseif health == "Healthy" and sync == "Synced" then
    hs.status = "Healthy"
    hs.message = "Synced and Healthy"
  else
    hs.message = "Application is " .. tostring(health) .. " and " .. sync
  end
end
return hs
