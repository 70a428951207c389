/* A `provided` runtime in C: the Lambda Runtime API over one kept-alive socket (no libraries), for e2e/test_runtimes.py.
 * Answers each event with {"native": true, "bytes": N, "request_id": "..."}; an event containing "alloc" tries to
 * allocate and touch 512 MiB first and reports the failure as an invocation error (the memory-limit test). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int connection = -1;

/* Reads exactly `length` bytes (0 on a closed connection). */
static int read_exactly(char *buffer, size_t length) {
    size_t got = 0;
    while (got < length) {
        ssize_t n = read(connection, buffer + got, length - got);
        if (n <= 0) return 0;
        got += (size_t)n;
    }
    return 1;
}

/* Sends a request on the kept-alive connection (reconnecting once if the server closed it) and returns the whole
 * response, headers and body, NUL-terminated; the body has Content-Length bytes. */
static char *request(const char *method, const char *path, const char *body, char *request_id, size_t *body_length) {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (connection < 0) connection = connect_api();
        /* One write per request: a head and a body in two small writes would wait out Nagle and delayed ACKs. */
        size_t length = body ? strlen(body) : 0;
        char *message = malloc(length + 512);
        int head = snprintf(message, 512, "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: %zu\r\n\r\n", method, path, host, port, length);
        if (body) memcpy(message + head, body, length);
        ssize_t sent = write(connection, message, (size_t)head + length);
        free(message);
        if (sent < 0) { close(connection); connection = -1; continue; }
        size_t capacity = 1 << 16, used = 0;
        char *buffer = malloc(capacity);
        char *separator = NULL;
        while (!separator) {
            ssize_t n = read(connection, buffer + used, capacity - used - 1);
            if (n <= 0) break;
            used += (size_t)n;
            buffer[used] = 0;
            separator = strstr(buffer, "\r\n\r\n");
            if (used + 1 >= capacity) { capacity *= 2; buffer = realloc(buffer, capacity); }
        }
        if (!separator) { free(buffer); close(connection); connection = -1; continue; }
        size_t header_length = (size_t)(separator - buffer) + 4, content_length = 0;
        if (request_id) request_id[0] = 0;
        for (char *line = buffer; line && line < separator; line = strstr(line, "\r\n") + 2) {
            if (strncasecmp(line, "Content-Length:", 15) == 0) content_length = strtoul(line + 15, NULL, 10);
            if (request_id && strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) sscanf(line + 30, " %127[^\r\n]", request_id);
        }
        if (header_length + content_length + 1 > capacity) {
            capacity = header_length + content_length + 1;
            buffer = realloc(buffer, capacity);
        }
        if (used < header_length + content_length && !read_exactly(buffer + used, header_length + content_length - used)) {
            free(buffer); close(connection); connection = -1; continue;
        }
        buffer[header_length + content_length] = 0;
        if (body_length) *body_length = content_length;
        return buffer;
    }
    fprintf(stderr, "the Runtime API closed the connection\n");
    exit(2);
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
