#include "io/metrics.h"

#include <stdlib.h>
#include <string.h>

#include "io/file.h"
#include "io/json.h"

int metrics_truncate(const char *path, int64_t keep_below, Err *e) {
    if (!file_exists(path)) return 0;
    size_t n;
    char *buf = file_read_all(path, &n, e);
    if (!buf) return -1;
    size_t w = 0;
    for (char *line = buf; line < buf + n;) {
        char *nl = memchr(line, '\n', (size_t)(buf + n - line));
        size_t len = nl ? (size_t)(nl - line) + 1 : (size_t)(buf + n - line);
        Err je;
        cJSON *j = json_parse_n(line, len, &je);
        int64_t step;
        int keep = j && json_get_int(j, "step", 1, &step, &je) == 0 && step < keep_below && nl;
        cJSON_Delete(j);
        if (keep) { memmove(buf + w, line, len); w += len; }
        line += len;
    }
    int rc = file_write_atomic(path, buf, w, e);
    free(buf);
    return rc;
}
