// Reads a file of the machine that evaluates it: refused, never read.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { stolen: importstr '/etc/hostname' } }
