#!/bin/sh
# Stand-in of the Mina images' /entrypoint.sh (chainfleet scripts/images.sh): runs its
# arguments (the real one runs the daemon or archive with their own set-up first).
exec "$@"
