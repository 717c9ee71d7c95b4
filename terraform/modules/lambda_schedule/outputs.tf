output "schedule_name" {
  description = "Name of the schedule."
  value       = aws_scheduler_schedule.this.name
}

output "group_name" {
  description = "Schedule group of the schedule (AWS/Scheduler's metrics are per group)."
  value       = aws_scheduler_schedule.this.group_name
}

output "schedule_arn" {
  description = "ARN of the schedule."
  value       = aws_scheduler_schedule.this.arn
}

output "role_arn" {
  description = "ARN of the role the schedule runs as."
  value       = aws_iam_role.this.arn
}

output "target_input" {
  description = "The event the schedule sends the function, before the scheduler fills its placeholders."
  value       = aws_scheduler_schedule.this.target[0].input
}
