// libpng from Debian's libpng-dev: PNG decode (palette + tRNS, gray, RGB, RGBA) and encode.
#include <png.h>
