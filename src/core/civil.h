/* civil.h - conversions between civil dates (proleptic Gregorian, UTC) and
 * days since 1970-01-01, shared by every reader of timestamps (EVTX values,
 * text logs, Sigma time modifiers). Pure functions: numbers in, numbers out. */
#ifndef MAMORI_CORE_CIVIL_H
#define MAMORI_CORE_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1..12), day d (1..31). */
int64_t civil_to_days(int64_t y, unsigned m, unsigned d);

/* The civil date of a day number (negative before 1970). */
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
