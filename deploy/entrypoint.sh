#!/bin/sh
# The container's entrypoint: the app on 0.0.0.0:$PORT, or a Ray head / worker from the same image.
#   entrypoint.sh                 the app (default)
#   entrypoint.sh ray-head        a Ray head for the training cluster
#   entrypoint.sh ray-worker      a Ray worker joining $RAY_HEAD (host:port)
set -eu
cd "$(dirname "$0")/.."
case "${1:-app}" in
  app)
    exec python -m studio.serve \
      --server.address=0.0.0.0 --server.port="${PORT:-8501}" --server.headless=true \
      --browser.gatherUsageStats=false --server.fileWatcherType=none ;;
  ray-head)
    exec ray start --head --port=6379 --num-cpus="${RAY_NUM_CPUS:-2}" --include-dashboard=false \
      --disable-usage-stats --block ;;
  ray-worker)
    exec ray start --address="${RAY_HEAD:?set RAY_HEAD to the head's host:port}" \
      --num-cpus="${RAY_NUM_CPUS:-2}" --disable-usage-stats --block ;;
  *)
    echo "usage: $0 [app|ray-head|ray-worker]" >&2
    exit 2 ;;
esac
