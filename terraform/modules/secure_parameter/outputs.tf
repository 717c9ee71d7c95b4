output "name" {
  description = "Name of the parameter."
  value       = aws_ssm_parameter.this.name
}

output "arn" {
  description = "ARN of the parameter (for IAM policies)."
  value       = aws_ssm_parameter.this.arn
}

output "value_version" {
  description = "Version of the value last written by Terraform."
  value       = aws_ssm_parameter.this.value_wo_version
}
