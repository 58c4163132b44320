#ifndef NATIVE_CHECKS_H
#define NATIVE_CHECKS_H
// Each check group lives in its own file and reports through native_check().
void native_check(int ok, const char *what);
void native_checks_pool(void);
void native_checks_ternary(void);
void native_checks_float(void);
#endif
