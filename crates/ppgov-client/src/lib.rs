//! typed clients per Power Platform API family on one transport: paging, throttling, retries, lifecycle polling
