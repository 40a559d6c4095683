/*
 * tests/unit/check.h - a very small test framework for the host unit tests.
 *
 * Each tests/unit/test_NAME.c is one program: its main() calls RUN(fn) for
 * each test function and returns check_done(), which prints
 * "N passed, N failed" (test functions, not assertions) as the last line
 * and exits non-zero on a failure.
 * A failed CHECK prints file:line and what was expected, and the test goes
 * on, so one run shows every failure. Only this header is shared; each
 * binary has its own counters.
 */
#ifndef HAKO_TEST_CHECK_H
#define HAKO_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_passed, check_failed;   /* assertions */
static unsigned check_tests_passed, check_tests_failed; /* RUN() test functions */
static const char *check_current = "?";

static int check_note(int ok, const char *file, int line, const char *what)
{
	if (ok) {
		check_passed++;
		return 1;
	}
	check_failed++;
	printf("FAIL %s:%d: [%s] %s\n", file, line, check_current, what);
	fflush(stdout); /* keep it if a sanitizer ends the program next */
	return 0;
}

#define CHECK(cond) check_note(!!(cond), __FILE__, __LINE__, #cond)

/* Integers of any width and sign; both values are printed on failure. */
#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (!check_note(check_a_ == check_b_, __FILE__, __LINE__,       \
				#a " == " #b))                                  \
			printf("     got %lld (%#llx), want %lld (%#llx)\n",     \
			       check_a_, (unsigned long long)check_a_, check_b_, \
			       (unsigned long long)check_b_);                   \
	} while (0)

/* NUL-terminated strings; a null pointer never equals anything. */
#define CHECK_STREQ(a, b)                                                       \
	do {                                                                    \
		const char *check_a_ = (a), *check_b_ = (b);                    \
		int check_ok_ = check_a_ && check_b_ && !strcmp(check_a_, check_b_); \
		if (!check_note(check_ok_, __FILE__, __LINE__, #a " == " #b))   \
			printf("     got \"%s\", want \"%s\"\n",                 \
			       check_a_ ? check_a_ : "(null)",                  \
			       check_b_ ? check_b_ : "(null)");                 \
	} while (0)

/* Does `hay` contain `needle`? */
#define CHECK_CONTAINS(hay, needle)                                             \
	do {                                                                    \
		const char *check_h_ = (hay), *check_n_ = (needle);             \
		if (!check_note(check_h_ && strstr(check_h_, check_n_) != 0,    \
				__FILE__, __LINE__, #hay " contains " #needle)) \
			printf("     \"%s\" not in \"%s\"\n", check_n_,         \
			       check_h_ ? check_h_ : "(null)");                 \
	} while (0)

#define RUN(fn)                                                                 \
	do {                                                                    \
		unsigned check_f0_ = check_failed;                              \
		check_current = #fn;                                            \
		fn();                                                           \
		if (check_failed == check_f0_)                                  \
			check_tests_passed++;                                   \
		else                                                            \
			check_tests_failed++;                                   \
		printf("%s %s\n", check_failed == check_f0_ ? "ok  " : "FAIL", #fn); \
		fflush(stdout);                                                 \
	} while (0)

/*
 * The closing line counts tests (RUN() functions), not the assertions in
 * them; the assertion count comes on the line before, for information.
 */
static int check_done(void)
{
	printf("%u checks passed, %u failed\n", check_passed, check_failed);
	if (check_failed && !check_tests_failed)
		check_tests_failed = 1; /* a CHECK outside any RUN() */
	printf("%u passed, %u failed\n", check_tests_passed, check_tests_failed);
	fflush(stdout);
	return check_failed ? 1 : 0;
}

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static unsigned long long check_rng_state = 0x9e3779b97f4a7c15ull;
static inline unsigned long long check_rand(void)
{
	unsigned long long x = check_rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	check_rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
