/* CRC-32, the checksum of model files. The table is built on the stack for each call (256
 * entries, a few thousand operations): no global state, and model files are small. */
#include "hnn/model.h"

uint32_t hnn_crc32(uint32_t crc, const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t table[256];
    if (data == NULL)
        return crc;
    uint32_t i;
    size_t k;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        int bit;
        for (bit = 0; bit < 8; bit++)
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    crc = ~crc;
    for (k = 0; k < size; k++)
        crc = table[(crc ^ p[k]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}
