output "purge_endpoint_url" {
  description = "URL partners POST purge requests to."
  value       = module.partner_data.purge_endpoint_url
}

output "purge_status_url" {
  description = "URL partners POST a purge job's status requests to."
  value       = module.partner_data.purge_status_url
}

output "kms_key_arn" {
  description = "The stack's KMS key."
  value       = aws_kms_key.this.arn
}

output "alarm_topic_arn" {
  description = "The topic the alarms notify: subscribe the on-call to it."
  value       = aws_sns_topic.alarms.arn
}

output "partner_data" {
  description = "Every output of the module."
  value       = module.partner_data
}
