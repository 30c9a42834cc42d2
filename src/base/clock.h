/* Wall time for progress lines, ETAs and throughput: seconds on the monotonic clock. */
#ifndef R1_BASE_CLOCK_H
#define R1_BASE_CLOCK_H

double clock_now(void);

#endif
