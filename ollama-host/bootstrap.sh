#!/bin/sh
# First-boot set-up of the Ollama host, run once by cloud-init (runcmd) after
# write_files has put the drop-in, the wrapper, the Modelfile and the health
# check in place. Output: /var/log/cloud-init-output.log.
set -eu
# Empty: the latest release. Set a version (e.g. OLLAMA_VERSION=0.12.6) once
# one has been tested, so that a replaced instance gets the same one.
OLLAMA_VERSION=""
export OLLAMA_VERSION
MODEL=llama3:8b

# The installer unpacks .tar.zst archives. The DLAMI already has the NVIDIA
# driver, so the installer only installs Ollama and its systemd unit (and
# enables and starts it, with the drop-in already in place).
dnf install -y zstd
curl -fsSL --retry 5 https://ollama.com/install.sh -o /tmp/ollama-install.sh
sh /tmp/ollama-install.sh
systemctl daemon-reload
systemctl enable ollama
systemctl restart ollama

IMDS=http://169.254.169.254/latest
TOKEN=$(curl -fsS -X PUT "$IMDS/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 300")
IP=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/local-ipv4")
OLLAMA_HOST="$IP:11434"
export OLLAMA_HOST
for _ in $(seq 1 60); do
  curl -fsS "http://$OLLAMA_HOST/api/version" >/dev/null 2>&1 && break
  sleep 5
done

# The weights come from Ollama's registry over HTTPS, through the NAT gateway.
ollama pull "$MODEL"
ollama create atende-llama3:8b -f /etc/ollama/Modelfile
/usr/local/bin/ollama-healthcheck "http://$OLLAMA_HOST" "$MODEL"
