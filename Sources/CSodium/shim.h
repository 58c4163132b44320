// Bridges libsodium into Swift. Install with `apt-get install libsodium-dev`.
#include <sodium.h>
