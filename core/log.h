/* log.h - leveled logging through the user's callback (vgen_log_fn); no global logger. */
#ifndef VGEN_CORE_LOG_H
#define VGEN_CORE_LOG_H

#include "vgen.h"

typedef struct vgen_logger {
    vgen_log_fn fn;          /* NULL: messages are dropped */
    void *user_data;
    vgen_log_level level;    /* messages with a level above this are dropped */
} vgen_logger;

void vgen_log(const vgen_logger *lg, vgen_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define VGEN_LOGE(lg, ...) vgen_log((lg), VGEN_LOG_ERROR, __VA_ARGS__)
#define VGEN_LOGW(lg, ...) vgen_log((lg), VGEN_LOG_WARN, __VA_ARGS__)
#define VGEN_LOGI(lg, ...) vgen_log((lg), VGEN_LOG_INFO, __VA_ARGS__)
#define VGEN_LOGD(lg, ...) vgen_log((lg), VGEN_LOG_DEBUG, __VA_ARGS__)

#endif
