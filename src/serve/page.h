/* The web chat page served at / : src/serve/page.html, made into this C string by the Makefile
 * (one self-contained file: no CDN, works offline). */
#ifndef R1_SERVE_PAGE_H
#define R1_SERVE_PAGE_H

extern const char serve_page_html[];

#endif
