/* stub: being written */
#include "config.h"
#include "misc.h"
