"""Traffic routers: what a canary shifts (a Lambda alias, an API Gateway stage, a CloudFront distribution)."""
