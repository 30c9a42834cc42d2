/* Exact decimals past 64 bits, for answers such as 2^{64}, 6.02\times10^{23} or 1e400.
 *
 * verify_num.h holds values in 64-bit integers and refuses anything larger; this is the fallback
 * for the evaluated forms whose value does not fit. A value is ±D·10^E with D a digit string
 * without leading or trailing zeros (empty for 0) and E an integer, so two answers are equal
 * exactly when their (sign, D, E) are: nothing is rounded, nothing compared in floating point.
 *
 * Only the forms that verify_num.h calls PLAIN or EVALUATED (less fractions) are read, so the
 * guard against unevaluated answers holds here too:
 *   plain decimals           123456789012345678901234567890, -0.000000000000000000001
 *   scientific notation      1e400, 1.5E-30, 6.02\times10^{23}, 3\cdot10^{4}, 3*10^4
 *   powers of an integer     2^{64}, (-3)^{41}, -7^{30}, 10^{-30}
 * A power with a negative exponent is read only for a power of ten (the others are fractions,
 * verify_num.h's business). Expanding D^k stops at BIG_POW_DIGITS digits: 2^{100000} is not read
 * (it can equal only another unexpanded power, and a false reject is safe); a base of 0 or ±1
 * takes any exponent, and 0^0 and 0^{-k} have no value. The work is bounded by the cap, not by
 * the exponent, so no input can make the check slow. */
#ifndef R1_RL_VERIFY_BIG_H
#define R1_RL_VERIFY_BIG_H

#include <stddef.h>

#define BIG_POW_DIGITS 1200

/* 1 when a[0..an) and b[0..bn) (normalised answers, no spaces) are both read and have the same
 * value, 0 when both are read and differ, -1 when either is not read. */
int big_equal(const char *a, size_t an, const char *b, size_t bn);

#endif
