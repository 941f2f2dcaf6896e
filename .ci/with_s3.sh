#!/usr/bin/env bash
# Runs a command with a moto S3 server on loopback, a bucket, and the AWS_* variables that point
# the time machine at it. Installs moto if needed. Usage: .ci/with_s3.sh COMMAND...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! python3 -c "import moto, flask, flask_cors" >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[s3]==5.2.5' flask flask-cors
fi
port="${TIMEMACHINE_S3_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
python3 "$here/s3_server.py" "$port" >/tmp/timemachine-moto-$port.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
up=""
for _ in $(seq 1 150); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then up=1; break; fi
  sleep 0.2
done
if [ -z "$up" ]; then
  echo "the S3 server did not start:" >&2
  cat "/tmp/timemachine-moto-$port.log" >&2
  exit 1
fi
export AWS_ENDPOINT="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing TIMEMACHINE_S3_BUCKET=timemachine
curl -sf -X PUT "$AWS_ENDPOINT/$TIMEMACHINE_S3_BUCKET" -o /dev/null
"$@"
