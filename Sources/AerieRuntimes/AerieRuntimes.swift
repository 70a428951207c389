// The out-of-process runtimes module (issue 18).
