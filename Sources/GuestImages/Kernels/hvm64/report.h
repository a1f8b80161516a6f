/* The page this kernel shares with xkv (layout: ../common/xkv-report.h). An HVM kernel makes
   no hypercalls, so `hypercalls` stays 0. */
#ifndef XKV_HVM64_REPORT_H
#define XKV_HVM64_REPORT_H

#include "../common/xkv-report.h"

/* A whole page of its own, so xkv can find it by its frame (main.c defines it). */
union xkv_report_page {
    struct xkv_report r;
    char bytes[4096];
};
extern volatile union xkv_report_page xkv_report_page;
#define report (&xkv_report_page.r)

#endif
