/* SMBIOS 2.x, as Linux's dmi_scan reads it: an entry point on a 16-byte boundary in
   0xF0000-0xFFFFF ("_SM_", checksum over its length, "_DMI_" with its own checksum over 15
   bytes at offset 0x10), then a table of structures (type u8, length u8, handle u16, the
   formatted area, then strings, each NUL-terminated, the set ending in a double NUL). Every
   number in it is checked before use: a wrong table gives a line saying why, not a fault. */
#include "smbios.h"
#include "console.h"
#include "hvm.h"

#define EPS_ANCHOR_LEN 4        /* "_SM_" */
#define EPS_MIN_LEN 0x1e        /* 0x1f by the spec; 2.1 firmware famously said 0x1e */
#define EPS_MAX_LEN 0x20
#define EPS_DMI 0x10            /* "_DMI_" intermediate anchor, checksum over 15 bytes */
#define EPS_TABLE_LEN 0x16      /* u16 */
#define EPS_TABLE_ADDR 0x18     /* u32 */
#define EPS_STRUCTURES 0x1c     /* u16 */
#define STRING_MAX 64           /* longest string printed */

static uint8_t checksum(const volatile uint8_t *p, unsigned n)
{
    uint8_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

static unsigned u16_at(const volatile uint8_t *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t u32_at(const volatile uint8_t *p) { return u16_at(p) | (uint32_t)u16_at(p + 2) << 16; }

static int matches(const volatile uint8_t *p, const char *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (p[i] != (uint8_t)s[i])
            return 0;
    return 1;
}

/* One structure of the table: its formatted area and its strings, inside [table, end). */
struct structure {
    const volatile uint8_t *at;     /* NULL: absent */
    unsigned length;                /* of the formatted area */
    const volatile uint8_t *end;    /* past its string set's double NUL */
};

/* String `number` (1-based) of s, copied printable into l; 0 names no string (empty). */
static void line_smbios_string(struct line *l, const struct structure *s, unsigned number)
{
    if (!s->at) {
        line_str(l, "(none)");
        return;
    }
    if (number == 0)
        return;
    const volatile uint8_t *p = s->at + s->length;
    for (unsigned k = 1; k < number; k++) {
        if (*p == 0) {
            line_str(l, "(missing)");   /* fewer strings than the number */
            return;
        }
        while (*p)
            p++;
        p++;
    }
    if (*p == 0) {
        line_str(l, "(missing)");
        return;
    }
    for (unsigned i = 0; p[i] && i < STRING_MAX; i++) {
        char c = (char)p[i];
        line_mem(l, c >= 0x20 && c < 0x7f ? &c : ".", 1);
    }
}

/* The byte at `offset` of a structure's formatted area, 0 where the area is shorter. */
static unsigned field(const struct structure *s, unsigned offset)
{
    return s->at && offset < s->length ? s->at[offset] : 0;
}

/* "smbios: WHAT A=0x.. B=0x..": why there is nothing to show. */
static void fail(const char *what, const char *a_name, uint64_t a, const char *b_name, uint64_t b)
{
    struct line l = { .len = 0 };
    line_str(&l, "smbios: ");
    line_str(&l, what);
    line_str(&l, " ");
    line_str(&l, a_name);
    line_str(&l, "=0x");
    line_hex(&l, a);
    line_str(&l, " ");
    line_str(&l, b_name);
    line_str(&l, "=0x");
    line_hex(&l, b);
    line_out(&l);
}

void smbios_report(uint64_t memory_size)
{
    const volatile uint8_t *eps = 0;
    uint64_t bad_at = 0;
    for (uint64_t a = BIOS_AREA_START; a + EPS_MAX_LEN <= BIOS_AREA_END; a += 16) {
        const volatile uint8_t *p = (const volatile uint8_t *)a;
        if (!matches(p, "_SM_", EPS_ANCHOR_LEN))
            continue;
        unsigned len = p[5];
        if (len >= EPS_MIN_LEN && len <= EPS_MAX_LEN && checksum(p, len) == 0 && matches(p + EPS_DMI, "_DMI_", 5)
            && checksum(p + EPS_DMI, 15) == 0) {
            eps = p;
            break;
        }
        if (!bad_at)
            bad_at = a;
    }
    if (!eps) {
        if (bad_at)
            fail("bad entry point (length or checksums)", "at", bad_at, "length", ((const volatile uint8_t *)bad_at)[5]);
        else
            print("smbios: no entry point in 0xf0000-0xfffff");
        return;
    }

    uint64_t table = u32_at(eps + EPS_TABLE_ADDR), length = u16_at(eps + EPS_TABLE_LEN);
    unsigned count = u16_at(eps + EPS_STRUCTURES);
    if (length < 4 || table + length > memory_size || table + length > (1ULL << 32)) {
        fail("table outside memory", "address", table, "length", length);
        return;
    }

    const volatile uint8_t *p = (const volatile uint8_t *)table, *end = p + length;
    struct structure bios = { 0 }, system = { 0 };
    for (unsigned n = 0; n < count && p + 4 <= end; n++) {
        unsigned type = p[0], flen = p[1];
        if (flen < 4 || flen > (uint64_t)(end - p)) {
            fail("bad structure length", "offset", (uint64_t)(p - (const volatile uint8_t *)table), "length", flen);
            return;
        }
        /* The string set: up to and including the first double NUL after the formatted area. */
        const volatile uint8_t *q = p + flen;
        while (q + 1 < end && !(q[0] == 0 && q[1] == 0))
            q++;
        if (q + 1 >= end) {
            fail("unterminated strings", "offset", (uint64_t)(p - (const volatile uint8_t *)table), "type", type);
            return;
        }
        struct structure s = { .at = p, .length = flen, .end = q + 2 };
        if (type == 0 && !bios.at)
            bios = s;
        if (type == 1 && !system.at)
            system = s;
        if (type == 127)
            break;
        p = s.end;
    }
    if (!system.at) {
        print("smbios: no system information structure (type 1)");
        return;
    }

    struct line l = { .len = 0 };
    line_str(&l, "smbios: manufacturer=");
    line_smbios_string(&l, &system, field(&system, 4));
    line_str(&l, " product=");
    line_smbios_string(&l, &system, field(&system, 5));
    line_str(&l, " version=");
    line_smbios_string(&l, &system, field(&system, 6));
    line_str(&l, " serial=");
    line_smbios_string(&l, &system, field(&system, 7));
    line_str(&l, " bios_vendor=");
    line_smbios_string(&l, &bios, field(&bios, 4));
    line_out(&l);
}
