/* stub: being written */
#include "config.h"
#include "pubkey.h"
