/* stub: being written */
#include "config.h"
#include "id.h"
