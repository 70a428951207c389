/* A `provided` runtime in C: the Lambda Runtime API over a plain socket (no libraries), for e2e/test_runtimes.py.
 * Answers each event with {"native": true, "bytes": N, "request_id": "..."}; an event containing "alloc" tries to
 * allocate and touch 512 MiB first and reports the failure as an invocation error (the memory-limit test). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char host[64];
static int port;

static int connect_api(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    inet_pton(AF_INET, host, &address.sin_addr);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("connect"); exit(2); }
    return fd;
}

/* Sends a request and reads the whole response (the server closes or sends Content-Length bytes). */
static char *request(const char *method, const char *path, const char *body, char *request_id, size_t *body_length) {
    int fd = connect_api();
    char head[512];
    size_t length = body ? strlen(body) : 0;
    snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", method, path, host, port, length);
    write(fd, head, strlen(head));
    if (body) write(fd, body, length);
    size_t capacity = 1 << 16, used = 0;
    char *buffer = malloc(capacity);
    ssize_t got;
    while ((got = read(fd, buffer + used, capacity - used - 1)) > 0) {
        used += (size_t)got;
        if (used + 1 >= capacity) { capacity *= 2; buffer = realloc(buffer, capacity); }
    }
    buffer[used] = 0;
    close(fd);
    char *separator = strstr(buffer, "\r\n\r\n");
    if (request_id) {
        request_id[0] = 0;
        for (char *line = buffer; line && line < separator; line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) {
                sscanf(line + 30, " %127[^\r\n]", request_id);
            }
        }
    }
    char *payload = separator ? separator + 4 : buffer + used;
    if (body_length) *body_length = strlen(payload);
    return buffer;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || sscanf(api, "%63[^:]:%d", host, &port) != 2) { fprintf(stderr, "no AWS_LAMBDA_RUNTIME_API\n"); return 1; }
    printf("native runtime started for %s\n", getenv("AWS_LAMBDA_FUNCTION_NAME"));
    fflush(stdout);
    for (;;) {
        char id[128], path[256], answer[512];
        size_t length = 0;
        char *response = request("GET", "/2018-06-01/runtime/invocation/next", NULL, id, &length);
        char *event = strstr(response, "\r\n\r\n");
        event = event ? event + 4 : "";
        if (strstr(event, "alloc")) {
            size_t size = (size_t)512 << 20;
            char *block = malloc(size);
            if (!block) {
                snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", id);
                free(request("POST", path, "{\"errorMessage\":\"malloc of 512 MiB failed\",\"errorType\":\"MemoryError\"}", NULL, NULL));
                free(response);
                continue;
            }
            memset(block, 1, size);
            free(block);
        }
        snprintf(answer, sizeof answer, "{\"native\":true,\"bytes\":%zu,\"request_id\":\"%s\"}", length, id);
        snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", id);
        free(request("POST", path, answer, NULL, NULL));
        printf("answered %s\n", id);
        fflush(stdout);
        free(response);
    }
}
