/* stub: being written */
#include "config.h"
#include "json.h"
