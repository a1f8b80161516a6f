/* CNcurses: wrappers over ncursesw (see include/CNcurses.h for why). */
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include "CNcurses.h"

#include <curses.h>
#include <term.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

const int xkv_key_up = KEY_UP, xkv_key_down = KEY_DOWN, xkv_key_left = KEY_LEFT, xkv_key_right = KEY_RIGHT;
const int xkv_key_home = KEY_HOME, xkv_key_end = KEY_END, xkv_key_ppage = KEY_PPAGE, xkv_key_npage = KEY_NPAGE;
const int xkv_key_btab = KEY_BTAB, xkv_key_backspace = KEY_BACKSPACE, xkv_key_dc = KEY_DC;
const int xkv_key_enter = KEY_ENTER, xkv_key_resize = KEY_RESIZE, xkv_key_ic = KEY_IC;

int xkv_key_f(int n) { return KEY_F(n); }

static SCREEN *screen;
static int started;

/* What the emergency restore needs, captured while it is still safe to call anything. */
static struct termios saved_modes;
static int have_saved_modes;
static char restore_bytes[256];
static size_t restore_length;

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP };
#define FATAL_COUNT (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct sigaction previous_actions[FATAL_COUNT];
static int handlers_installed;

int xkv_nc_setlocale(void)
{
    setlocale(LC_ALL, "");
    const char *codeset = nl_langinfo(CODESET);
    return codeset != NULL && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

static void append_capability(const char *name)
{
    char *value = tigetstr(name);
    if (value == NULL || value == (char *)-1)
        return;
    size_t n = strlen(value);
    if (restore_length + n < sizeof(restore_bytes)) {
        memcpy(restore_bytes + restore_length, value, n);
        restore_length += n;
    }
}

void xkv_nc_emergency_restore(void)
{
    if (!started)
        return;
    if (have_saved_modes)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes);
    if (restore_length > 0) {
        ssize_t ignored = write(STDOUT_FILENO, restore_bytes, restore_length);
        (void)ignored;
    }
}

static void fatal_handler(int sig)
{
    xkv_nc_emergency_restore();
    started = 0;
    /* Hand the signal to whoever had it before (Swift's backtracer, or the default): for a
     * fault the instruction runs again and faults into that handler; abort() raises again. */
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        if (fatal_signals[i] == sig) {
            sigaction(sig, &previous_actions[i], NULL);
            return;
        }
    }
    signal(sig, SIG_DFL);
}

static void install_fatal_handlers(void)
{
    if (handlers_installed)
        return;
    handlers_installed = 1;
    for (size_t i = 0; i < FATAL_COUNT; i++) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_handler = fatal_handler;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_NODEFER;
        sigaction(fatal_signals[i], &action, &previous_actions[i]);
    }
}

static void at_exit(void)
{
    xkv_nc_stop();
}

int xkv_nc_start(void)
{
    if (started)
        return 0;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return -1;
    have_saved_modes = tcgetattr(STDIN_FILENO, &saved_modes) == 0;
    screen = newterm(NULL, stdout, stdin);
    if (screen == NULL)
        return -1;
    set_term(screen);
    started = 1;
    restore_length = 0;
    append_capability("rmcup");
    append_capability("cnorm");
    append_capability("sgr0");
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(at_exit);
    }
    install_fatal_handlers();
    raw();
    noecho();
    nonl();
    intrflush(stdscr, FALSE);
    keypad(stdscr, TRUE);
    leaveok(stdscr, FALSE);
    set_escdelay(25);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
    }
    return 0;
}

void xkv_nc_stop(void)
{
    if (!started)
        return;
    started = 0;
    curs_set(1);
    endwin();
    if (screen != NULL) {
        delscreen(screen);
        screen = NULL;
    }
    fflush(stdout);
}

int xkv_nc_active(void) { return started; }

int xkv_nc_has_colors(void) { return started && has_colors(); }

int xkv_nc_colors(void) { return started ? COLORS : 0; }

int xkv_nc_init_pair(int pair, int fg, int bg)
{
    if (!started || pair <= 0 || pair >= COLOR_PAIRS)
        return -1;
    return init_pair((short)pair, (short)fg, (short)bg) == OK ? 0 : -1;
}

uint32_t xkv_nc_attr(int bold, int dim, int underline, int reverse, int standout, int italic)
{
    attr_t a = 0;
    if (bold) a |= A_BOLD;
    if (dim) a |= A_DIM;
    if (underline) a |= A_UNDERLINE;
    if (reverse) a |= A_REVERSE;
    if (standout) a |= A_STANDOUT;
    if (italic) a |= A_ITALIC;
    return (uint32_t)a;
}

void xkv_nc_size(int *rows, int *cols)
{
    int y = 0, x = 0;
    if (started)
        getmaxyx(stdscr, y, x);
    *rows = y;
    *cols = x;
}

void xkv_nc_draw(int y, int x, const uint32_t *text, int n, uint32_t attrs, int pair)
{
    if (!started || n <= 0)
        return;
    wchar_t buffer[512];
    while (n > 0) {
        int chunk = n < 511 ? n : 511;
        for (int i = 0; i < chunk; i++)
            buffer[i] = (wchar_t)text[i];
        buffer[chunk] = 0;
        attr_set((attr_t)attrs, (short)pair, NULL);
        /* The bottom-right cell: mvaddnwstr would scroll or fail after writing it; the
         * character is still placed, so the error is ignored. */
        mvaddnwstr(y, x, buffer, chunk);
        text += chunk;
        x += chunk;
        n -= chunk;
    }
}

static chtype acs(int which)
{
    switch (which) {
    case XKV_ACS_HLINE: return ACS_HLINE;
    case XKV_ACS_VLINE: return ACS_VLINE;
    case XKV_ACS_ULCORNER: return ACS_ULCORNER;
    case XKV_ACS_URCORNER: return ACS_URCORNER;
    case XKV_ACS_LLCORNER: return ACS_LLCORNER;
    case XKV_ACS_LRCORNER: return ACS_LRCORNER;
    case XKV_ACS_LTEE: return ACS_LTEE;
    case XKV_ACS_RTEE: return ACS_RTEE;
    case XKV_ACS_TTEE: return ACS_TTEE;
    case XKV_ACS_BTEE: return ACS_BTEE;
    case XKV_ACS_PLUS: return ACS_PLUS;
    case XKV_ACS_BLOCK: return ACS_BLOCK;
    case XKV_ACS_CKBOARD: return ACS_CKBOARD;
    case XKV_ACS_BULLET: return ACS_BULLET;
    case XKV_ACS_UARROW: return ACS_UARROW;
    case XKV_ACS_DARROW: return ACS_DARROW;
    case XKV_ACS_RARROW: return ACS_RARROW;
    case XKV_ACS_LARROW: return ACS_LARROW;
    default: return ACS_DIAMOND;
    }
}

void xkv_nc_draw_acs(int y, int x, int which, uint32_t attrs, int pair)
{
    if (!started)
        return;
    attr_set((attr_t)attrs, (short)pair, NULL);
    mvaddch(y, x, acs(which));
}

void xkv_nc_cursor(int y, int x, int visible)
{
    if (!started)
        return;
    if (visible) {
        move(y, x);
        curs_set(1);
    } else {
        curs_set(0);
    }
}

void xkv_nc_refresh(void)
{
    if (!started)
        return;
    wnoutrefresh(stdscr);
    doupdate();
}

void xkv_nc_invalidate(void)
{
    if (!started)
        return;
    clearok(curscr, TRUE);
}

int xkv_nc_read_key(int timeout_ms, int *function_key)
{
    *function_key = 0;
    if (!started)
        return -1;
    wtimeout(stdscr, timeout_ms);
    wint_t ch = 0;
    int rc = wget_wch(stdscr, &ch);
    if (rc == ERR)
        return -1;
    *function_key = rc == KEY_CODE_YES;
    return (int)ch;
}
