"""Background jobs (the queue): what runs outside a web request, once, with retries."""
