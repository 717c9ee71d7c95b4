output "purge_endpoint_urls" {
  description = "Each instance's purge endpoint, by instance key."
  value       = { for key, instance in module.partner_data : key => instance.purge_endpoint_url }
}

output "data_bucket_names" {
  description = "Each instance's data bucket, by instance key."
  value       = { for key, instance in module.partner_data : key => instance.data_bucket_name }
}
