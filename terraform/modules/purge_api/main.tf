resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "Purges partner data buckets (POST /${var.path_part}) and reports purge jobs (POST /${var.path_part}/status)."
  tags        = var.tags

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "purge" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = var.path_part
}

# A job's status: POST, like the purge, so that the password travels in the body and never in a URL.
resource "aws_api_gateway_resource" "status" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.purge.id
  path_part   = "status"
}

locals {
  routes = {
    purge  = aws_api_gateway_resource.purge
    status = aws_api_gateway_resource.status
  }
}

resource "aws_api_gateway_method" "post" {
  for_each = local.routes

  # checkov:skip=CKV2_AWS_53:The function validates every request itself, strictly (fuzz-tested), and answers in one JSON shape.
  rest_api_id   = aws_api_gateway_rest_api.this.id
  resource_id   = each.value.id
  http_method   = "POST"
  authorization = "NONE" # checkov:skip=CKV_AWS_59:The caller proves the purge password to the function, which checks it before anything else; API keys and a source-IP policy are options.

  api_key_required = var.require_api_key
}

resource "aws_api_gateway_integration" "lambda" {
  for_each = local.routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value.id
  http_method             = aws_api_gateway_method.post[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.function_invoke_arn
  timeout_milliseconds    = 29000
}

locals {
  # The resource policy always exists: without an allowlist it allows every source, as no policy
  # does for this API. Removing the allowlist is then a change of the policy, which comes before
  # the deployment that snapshots it; deleting the policy came after the stage had switched to the
  # new deployment, which went on serving the old allowlist.
  allow_invoke = {
    Sid       = "AllowInvoke"
    Effect    = "Allow"
    Principal = "*"
    Action    = "execute-api:Invoke"
    Resource  = "${aws_api_gateway_rest_api.this.execution_arn}/*"
  }
  deny_other_sources = {
    Sid       = "DenyOtherSources"
    Effect    = "Deny"
    Principal = "*"
    Action    = "execute-api:Invoke"
    Resource  = "${aws_api_gateway_rest_api.this.execution_arn}/*"
    Condition = { NotIpAddress = { "aws:SourceIp" = var.allowed_source_cidrs } }
  }
  resource_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = slice([local.allow_invoke, local.deny_other_sources], 0, length(var.allowed_source_cidrs) == 0 ? 1 : 2)
  })
}

resource "aws_api_gateway_rest_api_policy" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  policy      = local.resource_policy
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Managed by Terraform."

  # A stage serves a snapshot of the API taken at deployment, resource policy included: a new
  # deployment whenever what defines the API changes. Only configuration goes into the hash, never
  # attributes the provider fills in on refresh, so an unchanged API is never redeployed.
  triggers = {
    redeployment = sha1(jsonencode({
      routes = { for key, route in local.routes : key => {
        path_part        = route.path_part
        http_method      = aws_api_gateway_method.post[key].http_method
        authorization    = aws_api_gateway_method.post[key].authorization
        api_key_required = aws_api_gateway_method.post[key].api_key_required
        integration_type = aws_api_gateway_integration.lambda[key].type
        integration_uri  = aws_api_gateway_integration.lambda[key].uri
        integration_verb = aws_api_gateway_integration.lambda[key].integration_http_method
        timeout_ms       = aws_api_gateway_integration.lambda[key].timeout_milliseconds
      } }
      resource_policy = local.resource_policy
    }))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_method.post,
    aws_api_gateway_integration.lambda,
    aws_api_gateway_rest_api_policy.this,
  ]
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name}/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# API Gateway writes its execution logs (ERROR level, below) to this fixed name, creating the group
# itself, unencrypted and kept forever, unless it already exists: so it is made here first.
resource "aws_cloudwatch_log_group" "execution" {
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name
  description   = "Purge endpoint."
  tags          = var.tags

  # checkov:skip=CKV_AWS_120:Caching a POST that deletes data would be wrong.
  # checkov:skip=CKV2_AWS_51:Callers are partner integrations without client certificates; the password authenticates them.
  # checkov:skip=CKV2_AWS_29:WAF is the account owner's choice; the stage is throttled and optionally IP-restricted.
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    # No request body and no headers here: the body holds the password.
    format = jsonencode({
      requestId        = "$context.requestId"
      extendedId       = "$context.extendedRequestId"
      sourceIp         = "$context.identity.sourceIp"
      userAgent        = "$context.identity.userAgent"
      requestTime      = "$context.requestTime"
      httpMethod       = "$context.httpMethod"
      resourcePath     = "$context.resourcePath"
      status           = "$context.status"
      responseLength   = "$context.responseLength"
      latencyMs        = "$context.responseLatency"
      integrationError = "$context.integration.error"
      apiKeyId         = "$context.identity.apiKeyId"
      wafResponse      = "$context.waf.status"
    })
  }

  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    # Execution logs at ERROR only, and no data tracing, which would record request bodies (the password).
    logging_level      = "ERROR"
    data_trace_enabled = false
    caching_enabled    = false # checkov:skip=CKV_AWS_225:Caching a POST that deletes data would be wrong.
  }
}

resource "aws_lambda_permission" "api" {
  for_each = { purge = var.path_part, status = "${var.path_part}/status" }

  statement_id  = each.key == "purge" ? "AllowPurgeApiInvoke" : "AllowPurgeStatusApiInvoke"
  action        = "lambda:InvokeFunction"
  function_name = var.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/${aws_api_gateway_stage.this.stage_name}/POST/${each.value}"
}

resource "aws_api_gateway_usage_plan" "this" {
  count = var.require_api_key ? 1 : 0

  name        = "${var.name}-partners"
  description = "Quota and throttling for partner API keys."
  tags        = var.tags

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  quota_settings {
    limit  = var.api_key_quota_per_day
    period = "DAY"
  }

  throttle_settings {
    rate_limit  = var.throttling_rate_limit
    burst_limit = var.throttling_burst_limit
  }
}

resource "aws_api_gateway_api_key" "this" {
  count = var.require_api_key ? 1 : 0

  name        = "${var.name}-partner"
  description = "API key of the partner integration (read it with `aws apigateway get-api-key --include-value`)."
  enabled     = true
  tags        = var.tags
}

resource "aws_api_gateway_usage_plan_key" "this" {
  count = var.require_api_key ? 1 : 0

  key_id        = aws_api_gateway_api_key.this[0].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[0].id
}

# The purge route's resources were single before the status route came: an existing stack keeps them.
moved {
  from = aws_api_gateway_method.post
  to   = aws_api_gateway_method.post["purge"]
}

moved {
  from = aws_api_gateway_integration.lambda
  to   = aws_api_gateway_integration.lambda["purge"]
}

moved {
  from = aws_lambda_permission.api
  to   = aws_lambda_permission.api["purge"]
}

# The policy was counted, present only with an allowlist: a stack that had one keeps it.
moved {
  from = aws_api_gateway_rest_api_policy.source_ip[0]
  to   = aws_api_gateway_rest_api_policy.this
}
