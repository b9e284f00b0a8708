/* content_magic.c - file types from magic bytes and from file-name extensions.
 *
 * Bytes enter as the head of a sample; a type name and a category leave
 * (struct cm_magic). Both tables are const: magic signatures with their
 * offsets, and extensions with the type they promise. Header checks for the
 * formats we do not decode (PNG, JPEG, GIF, 7z ...) are cheap sanity walks
 * over the first bytes only: they catch a header overwritten past the magic,
 * not damage further in. */
#include "guard/content_int.h"

#include <string.h>
#include <strings.h>
#include <zlib.h>

struct magic_sig {
    size_t off;
    const char *bytes;
    size_t len;
    const char *type;
    enum cm_cat cat;
};

#define SIG(o, s, t, c) {(o), (s), sizeof(s) - 1, (t), (c)}

static const struct magic_sig magic_table[] = {
    SIG(0, "%PDF-", "pdf", CM_PDF),
    SIG(0, "PK\3\4", "zip", CM_DECODE),
    SIG(0, "\x1f\x8b\x08", "gzip", CM_DECODE),
    SIG(0, "\x28\xb5\x2f\xfd", "zstd", CM_DECODE),
    SIG(0, "\xfd" "7zXZ\0", "xz", CM_DECODE),
    SIG(0, "PACK\0\0\0\2", "pack", CM_DECODE),
    SIG(0, "PACK\0\0\0\3", "pack", CM_DECODE),
    SIG(0, "7z\xbc\xaf\x27\x1c", "7z", CM_HEADER),
    SIG(0, "\x89PNG\r\n\x1a\n", "png", CM_HEADER),
    SIG(0, "\xff\xd8\xff", "jpeg", CM_HEADER),
    SIG(0, "GIF87a", "gif", CM_HEADER),
    SIG(0, "GIF89a", "gif", CM_HEADER),
    SIG(0, "Rar!\x1a\x07", "rar", CM_HEADER),
    SIG(0, "\x1a\x45\xdf\xa3", "mkv", CM_HEADER),
    SIG(0, "OggS\0", "ogg", CM_HEADER),
    SIG(0, "fLaC", "flac", CM_HEADER),
    SIG(0, "ID3", "mp3", CM_HEADER),
    SIG(4, "ftyp", "mp4", CM_HEADER),
    SIG(0, "\x04\x22\x4d\x18", "lz4", CM_HEADER),
    SIG(0, "\x1f\x9d", "compress", CM_HEADER),
    SIG(0, "MSCF\0\0\0\0", "cab", CM_HEADER),
    SIG(0, "!<arch>\n", "ar", CM_HEADER),   /* .deb: members are compressed */
    SIG(0, "\xed\xab\xee\xdb", "rpm", CM_HEADER),
    SIG(0, "wOFF", "woff", CM_HEADER),
    SIG(0, "wOF2", "woff", CM_HEADER),
    SIG(0, "SQLite format 3\0", "sqlite", CM_STRUCT),
    SIG(0, "\x7f" "ELF", "elf", CM_STRUCT),
    SIG(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole", CM_STRUCT),
    SIG(257, "ustar", "tar", CM_STRUCT),
    SIG(0, "\xca\xfe\xba\xbe", "class", CM_STRUCT),
};

static bool riff(const uint8_t *b, size_t n, const char *form)
{
    return n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, form, 4) == 0;
}

/* zlib header as git and PDF write it: deflate, 32 KiB window, check bits. */
bool cm_zlib_header(const uint8_t *b, size_t n)
{
    return n >= 2 && b[0] == 0x78 && (b[1] == 0x01 || b[1] == 0x5e || b[1] == 0x9c || b[1] == 0xda);
}

static bool pe_header(const uint8_t *b, size_t n)
{
    if (n < 0x40 || b[0] != 'M' || b[1] != 'Z')
        return false;
    uint32_t off = (uint32_t)b[0x3c] | (uint32_t)b[0x3d] << 8 | (uint32_t)b[0x3e] << 16 |
                   (uint32_t)b[0x3f] << 24;
    return off <= n - 4 && memcmp(b + off, "PE\0\0", 4) == 0;
}

void cm_detect(const uint8_t *b, size_t n, struct cm_magic *m)
{
    m->type = "";
    m->cat = CM_NONE;
    for (size_t i = 0; i < sizeof magic_table / sizeof magic_table[0]; i++) {
        const struct magic_sig *s = &magic_table[i];
        if (n >= s->off + s->len && memcmp(b + s->off, s->bytes, s->len) == 0) {
            m->type = s->type;
            m->cat = s->cat;
            return;
        }
    }
    if (n >= 4 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' && b[3] >= '1' && b[3] <= '9') {
        m->type = "bzip2";
        m->cat = CM_DECODE;
    } else if (riff(b, n, "WEBP") || riff(b, n, "AVI ")) {
        m->type = b[8] == 'W' ? "webp" : "avi";
        m->cat = CM_HEADER;
    } else if (riff(b, n, "WAVE")) {
        m->type = "wav";
        m->cat = CM_STRUCT;
    } else if (pe_header(b, n)) {
        m->type = "pe";
        m->cat = CM_STRUCT;
    } else if (cm_zlib_header(b, n)) {
        m->type = "zlib";
        m->cat = CM_DECODE;
    }
}

/* ---- header checks ------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* PNG: the first chunk is IHDR, 13 bytes, with a matching CRC. */
static bool png_ok(const uint8_t *b, size_t n)
{
    if (n < 33 || be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
        return false;
    uLong crc = crc32(0L, b + 12, 17);
    return crc == be32(b + 29) && be32(b + 16) != 0 && be32(b + 20) != 0;
}

/* JPEG: walk marker segments from SOI until start-of-scan or the end of the
 * head; every segment must start with 0xFF and a marker byte. */
static bool jpeg_ok(const uint8_t *b, size_t n)
{
    size_t i = 2;
    int segs = 0;
    while (i + 4 <= n && segs < 64) {
        if (b[i] != 0xff)
            return false;
        uint8_t mk = b[i + 1];
        if (mk == 0xff) { /* fill byte */
            i++;
            continue;
        }
        if (mk < 0xc0 || mk == 0xd8 || (mk >= 0xd0 && mk <= 0xd7))
            return false;
        if (mk == 0xda)
            return segs > 0;
        size_t seglen = (size_t)b[i + 2] << 8 | b[i + 3];
        if (seglen < 2)
            return false;
        i += 2 + seglen;
        segs++;
    }
    return segs > 0;
}

/* 7z: CRC32 of the 20-byte start header is stored right before it. */
static bool sevenz_ok(const uint8_t *b, size_t n)
{
    if (n < 32)
        return false;
    return crc32(0L, b + 12, 20) == le32(b + 8);
}

static bool gif_ok(const uint8_t *b, size_t n)
{
    return n >= 10 && (b[6] | b[7]) != 0 && (b[8] | b[9]) != 0;
}

static bool mp4_ok(const uint8_t *b, size_t n)
{
    uint32_t box = be32(b);
    if (box < 8 || box > 4096 || n < 12)
        return false;
    for (int i = 8; i < 12; i++)
        if (b[i] < 0x20 || b[i] > 0x7e)
            return false;
    return true;
}

bool cm_header_ok(const char *type, const uint8_t *b, size_t n)
{
    if (strcmp(type, "png") == 0)
        return png_ok(b, n);
    if (strcmp(type, "jpeg") == 0)
        return jpeg_ok(b, n);
    if (strcmp(type, "7z") == 0)
        return sevenz_ok(b, n);
    if (strcmp(type, "gif") == 0)
        return gif_ok(b, n);
    if (strcmp(type, "mp4") == 0)
        return mp4_ok(b, n);
    return true; /* the magic is all we check */
}

static bool compressed_cat(const uint8_t *b, size_t n)
{
    struct cm_magic m;
    cm_detect(b, n, &m);
    return m.cat == CM_DECODE || m.cat == CM_HEADER || m.cat == CM_PDF;
}

bool cm_nested_container(const uint8_t *b, size_t n)
{
    if (compressed_cat(b, n))
        return true;
    /* tar: the first member's data starts after its 512-byte header. */
    if (n > 512 + 8 && memcmp(b + 257, "ustar", 5) == 0)
        return compressed_cat(b + 512, n - 512);
    /* git loose object: "blob <size>\0<data>". */
    static const char *const git[] = {"blob ", "tree ", "commit ", "tag "};
    for (size_t k = 0; k < 4; k++) {
        size_t l = strlen(git[k]);
        if (n > l && memcmp(b, git[k], l) == 0) {
            const uint8_t *z = memchr(b, 0, n < 32 ? n : 32);
            if (z)
                return compressed_cat(z + 1, n - (size_t)(z + 1 - b));
        }
    }
    return false;
}

/* ---- extensions ---------------------------------------------------------- */

struct ext_map {
    const char *ext;
    const char *type;
};

static const struct ext_map ext_table[] = {
    {"zip", "zip"}, {"docx", "zip"}, {"xlsx", "zip"}, {"pptx", "zip"}, {"docm", "zip"},
    {"xlsm", "zip"}, {"pptm", "zip"}, {"odt", "zip"}, {"ods", "zip"}, {"odp", "zip"},
    {"jar", "zip"}, {"apk", "zip"}, {"epub", "zip"}, {"doc", "ole"}, {"xls", "ole"},
    {"ppt", "ole"}, {"msg", "ole"}, {"msi", "ole"}, {"jpg", "jpeg"}, {"jpeg", "jpeg"},
    {"png", "png"}, {"gif", "gif"}, {"pdf", "pdf"}, {"db", "sqlite"}, {"sqlite", "sqlite"},
    {"sqlite3", "sqlite"}, {"gz", "gzip"}, {"tgz", "gzip"}, {"zst", "zstd"}, {"tzst", "zstd"},
    {"xz", "xz"}, {"txz", "xz"}, {"bz2", "bzip2"}, {"tbz2", "bzip2"}, {"7z", "7z"},
    {"rar", "rar"}, {"tar", "tar"}, {"so", "elf"}, {"o", "elf"}, {"exe", "pe"}, {"dll", "pe"},
    {"mp4", "mp4"}, {"m4a", "mp4"}, {"mov", "mp4"}, {"heic", "mp4"}, {"mkv", "mkv"},
    {"webm", "mkv"}, {"ogg", "ogg"}, {"flac", "flac"}, {"mp3", "mp3"}, {"webp", "webp"},
    {"wav", "wav"}, {"avi", "avi"}, {"deb", "ar"}, {"rpm", "rpm"}, {"class", "class"},
    {"txt", "text"}, {"text", "text"}, {"csv", "text"}, {"tsv", "text"}, {"log", "text"},
    {"md", "text"}, {"rst", "text"}, {"c", "text"}, {"h", "text"}, {"cc", "text"},
    {"cpp", "text"}, {"hpp", "text"}, {"cxx", "text"}, {"py", "text"}, {"sh", "text"},
    {"bash", "text"}, {"js", "text"}, {"ts", "text"}, {"json", "text"}, {"xml", "text"},
    {"html", "text"}, {"htm", "text"}, {"css", "text"}, {"yaml", "text"}, {"yml", "text"},
    {"ini", "text"}, {"conf", "text"}, {"cfg", "text"}, {"toml", "text"}, {"sql", "text"},
    {"go", "text"}, {"rs", "text"}, {"java", "text"}, {"rb", "text"}, {"pl", "text"},
    {"php", "text"}, {"tex", "text"}, {"svg", "text"}, {"srt", "text"}, {"eml", "text"},
    {"properties", "text"}, {"bat", "text"}, {"ps1", "text"}, {"ics", "text"},
    {"vcf", "text"}, {"rtf", "text"}, {"mk", "text"},
};

const char *content_ext_type(const char *name)
{
    if (!name)
        return "";
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || dot[1] == '\0' || strlen(dot + 1) > 10)
        return "";
    for (size_t i = 0; i < sizeof ext_table / sizeof ext_table[0]; i++)
        if (strcasecmp(dot + 1, ext_table[i].ext) == 0)
            return ext_table[i].type;
    return "";
}
