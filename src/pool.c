/* stub: being written */
#include "config.h"
#include "pool.h"
