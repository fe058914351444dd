/* stub: being written */
#include "config.h"
#include "buf.h"
