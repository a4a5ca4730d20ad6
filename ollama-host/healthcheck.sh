#!/bin/sh
# Health check of the Ollama host: the API answers (/api/tags lists the
# model) and the model generates (a tiny /api/generate). keep_alive keeps the
# model loaded afterwards, so the check doubles as a warm-up.
#
# Usage: healthcheck.sh [BASE_URL] [MODEL]
#   BASE_URL  default: http://<this instance's private IP>:11434 (from IMDSv2;
#             Ollama does not listen on localhost)
#   MODEL     default: llama3:8b
# Exit status 0 when healthy; prints what failed otherwise.
set -eu
if [ $# -ge 1 ]; then
  BASE=$1
else
  IMDS=http://169.254.169.254/latest
  TOKEN=$(curl -fsS -X PUT "$IMDS/api/token" \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
  IP=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/local-ipv4")
  BASE="http://$IP:11434"
fi
MODEL=llama3:8b
if [ $# -ge 2 ]; then
  MODEL=$2
fi

TAGS=$(curl -fsS --max-time 10 "$BASE/api/tags") || {
  echo "UNHEALTHY: $BASE/api/tags did not answer" >&2; exit 1; }
echo "$TAGS" | grep -q "\"name\":\"$MODEL\"" || {
  echo "UNHEALTHY: model $MODEL not pulled" >&2; exit 1; }

BODY=$(printf '{"model":"%s","prompt":"Responda apenas: ok","stream":false,"keep_alive":"24h","options":{"num_predict":5,"temperature":0}}' "$MODEL")
OUT=$(curl -fsS --max-time 120 -H "Content-Type: application/json" \
  -d "$BODY" "$BASE/api/generate") || {
  echo "UNHEALTHY: $BASE/api/generate failed" >&2; exit 1; }
echo "$OUT" | grep -q '"done":true' || {
  echo "UNHEALTHY: generation did not finish: $OUT" >&2; exit 1; }
echo "healthy: $BASE ($MODEL)"
