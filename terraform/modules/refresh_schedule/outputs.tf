output "schedule_name" {
  description = "Name of the schedule."
  value       = aws_scheduler_schedule.this.name
}

output "schedule_arn" {
  description = "ARN of the schedule."
  value       = aws_scheduler_schedule.this.arn
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue (runs that could not be delivered)."
  value       = aws_sqs_queue.dead_letter.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dead_letter.url
}

output "role_arn" {
  description = "ARN of the role the schedule runs as."
  value       = aws_iam_role.scheduler.arn
}
