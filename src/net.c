/* stub: being written */
#include "config.h"
#include "net.h"
