"""The storefront widget without Flask: shops (`directory`), the response cache and Redis guard
(`cache`), rate limits (`ratelimit`), the JSON it shows (`payload`), the visitor's arm
(`holdout`), events (`events`) and what it earned (`attribution`). See docs/widget.md."""
