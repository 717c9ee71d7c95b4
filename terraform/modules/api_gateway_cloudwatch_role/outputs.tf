output "role_arn" {
  description = "ARN of the role now set as the account's API Gateway CloudWatch Logs role in this region."
  value       = aws_api_gateway_account.this.cloudwatch_role_arn
}
