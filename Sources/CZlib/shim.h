// zlib from Debian's zlib1g-dev: gzip (IDX datasets), CRC32 and deflate (PNG).
#include <zlib.h>
