/* CNcurses: the C face of ncursesw for xkv's console.
 * ncurses is mostly macros (attributes, COLOR_PAIR, KEY_F, ACS_* characters, getmaxyx) and
 * globals (stdscr, LINES, COLS) that Swift cannot import or may not touch under strict
 * concurrency. This header exposes small, typed, non-variadic functions instead; it does not
 * include <curses.h>, so nothing of ncurses leaks into Swift. Every function is for the main
 * thread only, as ncurses itself is. */
#ifndef CNCURSES_H
#define CNCURSES_H

#include <stdint.h>

/* Locale: setlocale(LC_ALL, "") before ncurses starts; 1 when the codeset is UTF-8. */
int xkv_nc_setlocale(void);

/* initscr-equivalent through newterm (so a missing terminal is an error, not an exit),
 * then raw, noecho, nonl, keypad, a hidden cursor, a 25 ms ESC delay and colours when the
 * terminal has them. Returns 0, or -1 when the terminal cannot be used. Registers an atexit
 * hook and fatal-signal handlers that put the terminal back (see xkv_nc_emergency_restore). */
int xkv_nc_start(void);
/* endwin if started; safe to call more than once. */
void xkv_nc_stop(void);
int xkv_nc_active(void);

/* Colours: has_colors, COLORS, init_pair (fg/bg -1 = the terminal's default). */
int xkv_nc_has_colors(void);
int xkv_nc_colors(void);
int xkv_nc_init_pair(int pair, int fg, int bg);

/* Attribute bits (A_BOLD, ... as attr_t values). */
uint32_t xkv_nc_attr(int bold, int dim, int underline, int reverse, int standout, int italic);

/* Current screen size (getmaxyx of stdscr). */
void xkv_nc_size(int *rows, int *cols);

/* attr_set(attrs, pair) then mvaddnwstr(y, x, text, n): text is UTF-32 code points. */
void xkv_nc_draw(int y, int x, const uint32_t *text, int n, uint32_t attrs, int pair);

/* Line-drawing characters (ACS_*), for terminals whose locale is not UTF-8. */
enum xkv_acs {
    XKV_ACS_HLINE, XKV_ACS_VLINE, XKV_ACS_ULCORNER, XKV_ACS_URCORNER, XKV_ACS_LLCORNER,
    XKV_ACS_LRCORNER, XKV_ACS_LTEE, XKV_ACS_RTEE, XKV_ACS_TTEE, XKV_ACS_BTEE, XKV_ACS_PLUS,
    XKV_ACS_BLOCK, XKV_ACS_CKBOARD, XKV_ACS_BULLET, XKV_ACS_UARROW, XKV_ACS_DARROW,
    XKV_ACS_RARROW, XKV_ACS_LARROW, XKV_ACS_DIAMOND
};
void xkv_nc_draw_acs(int y, int x, int which, uint32_t attrs, int pair);

/* The hardware cursor: shown at (y, x) when visible, hidden otherwise. */
void xkv_nc_cursor(int y, int x, int visible);
/* wnoutrefresh + doupdate: ncurses sends only what changed since the last refresh. */
void xkv_nc_refresh(void);
/* Forget what is on the terminal (after a resize or Ctrl-L): the next refresh repaints all. */
void xkv_nc_invalidate(void);

/* Reads one key, waiting at most timeout_ms (-1: forever). Returns -1 on timeout; otherwise
 * the character (a Unicode code point) with *function_key = 0, or a KEY_* code with
 * *function_key = 1. */
int xkv_nc_read_key(int timeout_ms, int *function_key);

/* KEY_* codes (defined from the macros in CNcurses.c). */
extern const int xkv_key_up, xkv_key_down, xkv_key_left, xkv_key_right, xkv_key_home, xkv_key_end;
extern const int xkv_key_ppage, xkv_key_npage, xkv_key_btab, xkv_key_backspace, xkv_key_dc;
extern const int xkv_key_enter, xkv_key_resize, xkv_key_ic;
/* KEY_F(n) */
int xkv_key_f(int n);

/* Async-signal-safe: restores the terminal modes saved at start and writes the terminal's own
 * exit-alternate-screen, show-cursor and reset-attribute strings. The fatal-signal handlers
 * call it before handing the signal on to the handler that was there before. */
void xkv_nc_emergency_restore(void);

#endif
