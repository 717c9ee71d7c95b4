mock_provider "aws" {
  source = "../../tests/mocks"

  override_resource {
    target = aws_iam_role.this
    values = { arn = "arn:aws:iam::123456789012:role/partner-data-apigateway-logs-sa-east-1" }
  }
}

variables {
  name   = "partner-data-apigateway-logs"
  region = "sa-east-1"
}

run "sets_the_account_role" {
  command = apply

  assert {
    condition     = aws_iam_role.this.name == "partner-data-apigateway-logs-sa-east-1"
    error_message = "The role name must carry the region: the account setting is per region, IAM is global."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
    error_message = "API Gateway may assume the role, with no condition on keys it may not send (AWS's documented trust policy)."
  }
  assert {
    condition     = aws_iam_role_policy_attachment.this.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    error_message = "The role must carry AWS's policy for pushing API Gateway logs."
  }
  assert {
    condition     = aws_api_gateway_account.this.cloudwatch_role_arn == aws_iam_role.this.arn && output.role_arn == aws_iam_role.this.arn
    error_message = "The account setting must name the role."
  }
}

run "refuses_a_name_that_would_overflow_iam" {
  command = plan

  variables {
    name = "a-name-of-forty-nine-characters-xxxxxxxxxxxxxxxxx"
  }

  expect_failures = [var.name]
}
