/* Inline SVG charts for the self-contained HTML report (no scripts, no network). */
#ifndef R1_PIPELINE_SVG_H
#define R1_PIPELINE_SVG_H

#include "base/strbuf.h"

typedef struct SvgSeries {
    const char *name;       /* legend label */
    const double *x, *y;    /* [n] */
    int n;
} SvgSeries;

/* A line chart, width×height pixels, axes with ticks, one colour per series, legend.
 * Empty or non-finite data draw an empty frame with "no data". */
void svg_line_chart(StrBuf *out, const char *title, const char *x_label, const char *y_label,
                    const SvgSeries *series, int n_series, int width, int height);

/* A grouped bar chart: groups (e.g. checkpoints) × bars (e.g. tasks), values in [0, y_max]. */
void svg_bar_chart(StrBuf *out, const char *title, const char *y_label, const char *const *groups,
                   int n_groups, const char *const *bars, int n_bars, const double *values /* [g*n_bars+b] */,
                   double y_max, int width, int height);

#endif
