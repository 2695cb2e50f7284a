// The header declares libFuzzer's driver; this file only gives the C target a translation unit.
#include "CFuzzer.h"
