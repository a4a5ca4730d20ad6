#!/bin/sh
# ExecStart of ollama.service (see ollama.service.d/override.conf): bind Ollama
# to this instance's private IPv4 address, read from IMDSv2.
set -eu
IMDS=http://169.254.169.254/latest
TOKEN=$(curl -fsS --retry 5 -X PUT "$IMDS/api/token" \
  -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
IP=$(curl -fsS --retry 5 -H "X-aws-ec2-metadata-token: $TOKEN" \
  "$IMDS/meta-data/local-ipv4")
[ -n "$IP" ] || { echo "no private address from IMDS" >&2; exit 1; }
OLLAMA_HOST="$IP:11434"
export OLLAMA_HOST
exec ollama serve
