"""Notifications outside the app: e-mail to people, and the units' group robots (企业微信, 钉钉) and
webhooks, fed by the in-app notifications (one mechanism: ``signals.notified``)."""
