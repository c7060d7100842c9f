-- A ladder state store made by modelhealth 0.1 (commit 1dc7bce, ladder schema "1", before
-- Alembic): three nights, step-1 approved by bob and applied by dave, a price_change
-- event, two healthy nights. Made with tests/data/make_state_schema1.py run in that
-- checkout, then `sqlite3 state.db .dump`. tests/test_ladder_migrations.py upgrades it.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE ladder_meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO ladder_meta VALUES('schema_version','1');
CREATE TABLE ladder_nights (
	id INTEGER NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	night DATE NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	triggers JSON NOT NULL, 
	max_tier INTEGER NOT NULL, 
	dominant_mode VARCHAR(64), 
	failure_modes JSON NOT NULL, 
	window_start DATETIME, 
	window_end DATETIME, 
	report_digest VARCHAR(64) NOT NULL, 
	summary JSON NOT NULL, 
	run_id VARCHAR(200) NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	decision_kind VARCHAR(32) NOT NULL, 
	decision_reason TEXT NOT NULL, 
	decision_due_at DATETIME, 
	escalation_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_night_per_model UNIQUE (model_id, night)
);
INSERT INTO ladder_nights VALUES(1,'support-assistant','2025-04-07','healthy','[]',0,NULL,'[]','2025-04-07 00:00:00.000000','2025-04-08 00:00:00.000000','ec60a0c74be67af75fc6ff087c62dea597c08603876142dcc7079bd67b62d9ab','{}','run-2025-04-07','2025-04-08 02:00:00.000000','no_action','healthy on 2025-04-07: nothing to do',NULL,NULL);
INSERT INTO ladder_nights VALUES(2,'support-assistant','2025-04-08','breach','[{"name": "quality", "level": "breach", "tier": 2, "observed": 0.8, "limit": 0.88}]',2,'hallucination','[["hallucination", 1.0]]','2025-04-08 00:00:00.000000','2025-04-09 00:00:00.000000','97db60815cd7065a65cf5383c1806c15ba067baef4cab6aae12e4c63ea3571e1','{}','run-2025-04-08','2025-04-09 02:00:00.000000','watch','triggers fired on 1 of the last 3 nights (2025-04-08); persistence needs 2 of 3',NULL,NULL);
INSERT INTO ladder_nights VALUES(3,'support-assistant','2025-04-09','breach','[{"name": "quality", "level": "breach", "tier": 2, "observed": 0.8, "limit": 0.88}]',2,'hallucination','[["hallucination", 1.0]]','2025-04-09 00:00:00.000000','2025-04-10 00:00:00.000000','24ab066d257ff15d63adb8636347987c31097268d4bdbdb136b7598c46fc0683','{}','run-2025-04-09','2025-04-10 02:00:00.000000','open_escalation','triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met; response matrix: hallucination → retrieval_augmentation; retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month × 3); USD 47,400 of the quarter''s USD 60,000 budget left after it','2025-04-13 02:00:00.000000',1);
INSERT INTO ladder_nights VALUES(4,'support-assistant','2025-04-10','healthy','[]',0,NULL,'[]','2025-04-10 00:00:00.000000','2025-04-11 00:00:00.000000','d3c93bbeb8181031fa1dbccef4d3e85f881b89ca565d6832d27541ab28ec4151','{}','run-2025-04-10','2025-04-11 02:00:00.000000','reopen','event price_change #1 on 2025-04-10 ("provider cut prices") reopened esc-1 under the current register; retrieval_augmentation (step-1) is evaluating, unchanged',NULL,1);
INSERT INTO ladder_nights VALUES(5,'support-assistant','2025-04-11','healthy','[]',0,NULL,'[]','2025-04-11 00:00:00.000000','2025-04-12 00:00:00.000000','c71a209f6e5d1947fe70c56a15eb08d623b464023c397b0be569804243ff577e','{}','run-2025-04-11','2025-04-12 02:00:00.000000','hold','retrieval_augmentation (step-1) under evaluation until 2025-04-24 11:00 UTC; 0 of 1 nights so far had triggers','2025-04-24 11:00:00.000000',1);
CREATE TABLE ladder_escalations (
	id INTEGER NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	tier INTEGER NOT NULL, 
	opened_at DATETIME NOT NULL, 
	opened_night DATE, 
	dominant_mode VARCHAR(64), 
	rule TEXT NOT NULL, 
	reason TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	first_trigger_at DATETIME, 
	policy_snapshot TEXT NOT NULL, 
	closed_at DATETIME, 
	outcome TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO ladder_escalations VALUES(1,'support-assistant','remediation','open',2,'2025-04-10 02:00:00.000000','2025-04-09','hallucination','persistence','triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met; response matrix: hallucination → retrieval_augmentation; retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month × 3); USD 47,400 of the quarter''s USD 60,000 budget left after it','support-assistant has hallucination (tier 2 delivery risk, breached 2 of the last 3 nights): recommend retrieval_augmentation for USD 12,600 (9,000 one-off + 1,200/month × 3), needing 1 approval from model_owner, not the requester by 2025-04-13 02:00 UTC.','2025-04-08 00:00:00.000000','{"model_id":"support-assistant","owner":"alice","criticality":2,"taken_at":"2025-04-11T02:00:00Z","register_name":"ladder-tests","register_version":"sha256:test","rungs":[{"id":"prompt_optimization","title":"Prompt optimization","entry_criteria":"Failures come from how the task is asked (instructions, output format, tone) while the model has the knowledge it needs; the fix can be validated on the failing cases offline.","cost_one_off":1500.0,"cost_monthly":0.0,"cost_ceiling":5000.0,"time_days":3.0,"evaluation_days":7,"approval":{"roles":["model_owner"],"min_approvals":0,"requester_may_approve":true,"escalate_to":["ml_lead"]},"sunset_on":[],"sunset_criteria":"Superseded when the prompt template is replaced or the base model changes."},{"id":"retrieval_augmentation","title":"Retrieval augmentation","entry_criteria":"Wrong or invented facts about things the model cannot know or must cite, and a maintained source of truth (policies, catalogue, knowledge base) exists to retrieve from.","cost_one_off":9000.0,"cost_monthly":1200.0,"cost_ceiling":null,"time_days":14.0,"evaluation_days":14,"approval":{"roles":["model_owner"],"min_approvals":1,"requester_may_approve":false,"escalate_to":["ml_lead"]},"sunset_on":[],"sunset_criteria":"Retired when the source of truth it retrieves from is decommissioned."},{"id":"few_shot_enrichment","title":"Few-shot enrichment","entry_criteria":"Failures concentrate in domains or segments where curated worked examples show the expected behaviour, and those examples fit in the context budget.","cost_one_off":4000.0,"cost_monthly":300.0,"cost_ceiling":null,"time_days":7.0,"evaluation_days":14,"approval":{"roles":["model_owner"],"min_approvals":1,"requester_may_approve":false,"escalate_to":["ml_lead"]},"sunset_on":[],"sunset_criteria":"Retired when the examples no longer reflect the domain (product or policy change)."},{"id":"fine_tuning","title":"Fine-tuning","entry_criteria":"Cheaper rungs failed or cannot fix systematic domain errors; at least a thousand labeled examples exist; the base model will be supported for the payback period.","cost_one_off":18000.0,"cost_monthly":1500.0,"cost_ceiling":40000.0,"time_days":30.0,"evaluation_days":21,"approval":{"roles":["model_owner","ml_lead"],"min_approvals":2,"requester_may_approve":false,"escalate_to":["ml_lead"]},"sunset_on":["model_deprecation"],"sunset_criteria":"Retired when its base model is deprecated; re-decide on the successor model."},{"id":"hybrid_routing","title":"Hybrid routing","entry_criteria":"A cheaper, faster or specialist path can serve part of the traffic: confidence is calibrated enough to route on, or latency is dominated by an identifiable subset.","cost_one_off":12000.0,"cost_monthly":2500.0,"cost_ceiling":null,"time_days":21.0,"evaluation_days":21,"approval":{"roles":["model_owner","ml_lead"],"min_approvals":2,"requester_may_approve":false,"escalate_to":["ml_lead"]},"sunset_on":[],"sunset_criteria":"Retired when one path can serve all traffic within the register."},{"id":"full_replacement","title":"Full replacement","entry_criteria":"The model cannot meet its register after the rungs below, or a better model is available whose total cost over the payback period is acceptable.","cost_one_off":60000.0,"cost_monthly":5000.0,"cost_ceiling":null,"time_days":90.0,"evaluation_days":30,"approval":{"roles":["model_owner","ml_lead","finance"],"min_approvals":2,"requester_may_approve":false,"escalate_to":["ml_lead","finance"]},"sunset_on":[],"sunset_criteria":"Not retired by the ladder; the replacement becomes the model."}],"matrix":{"format_violation":{"mode":"format_violation","rung":"prompt_optimization","mitigation":"Put an output validator in front of consumers and retry invalid outputs once.","long_term_fix":"Tighten the prompt and output schema (structured output / JSON mode).","owner":"model_owner","source":"default"},"hallucination":{"mode":"hallucination","rung":"retrieval_augmentation","mitigation":"Require citations and route uncited answers to human review.","long_term_fix":"Ground answers in a retrieved, maintained source of truth.","owner":"model_owner","source":"default"},"factual_error":{"mode":"factual_error","rung":"retrieval_augmentation","mitigation":"Route answers about the affected facts to review; correct the source data.","long_term_fix":"Retrieve facts from the system of record instead of model memory.","owner":"model_owner","source":"default"},"domain_misapplication":{"mode":"domain_misapplication","rung":"few_shot_enrichment","mitigation":"Route the affected segment to a specialist queue.","long_term_fix":"Few-shot examples for the segment, then fine-tuning if they do not hold.","owner":"ml_lead","source":"default"},"confidence_miscalibration":{"mode":"confidence_miscalibration","rung":"hybrid_routing","mitigation":"Raise the auto-serve confidence band so fewer cases bypass review.","long_term_fix":"Recalibrate (temperature scaling) and route low-confidence cases to a second path.","owner":"ml_lead","source":"default"},"latency_regression":{"mode":"latency_regression","rung":"hybrid_routing","mitigation":"Scale out, cap generation length, or shed load to a faster fallback.","long_term_fix":"Route the slow subset to a faster path, or replace the model.","owner":"ml_engineer","source":"default"},"availability":{"mode":"availability","rung":null,"mitigation":"Roll back the last change and page on-call.","long_term_fix":"Fix the failing dependency; add health checks and a fallback.","owner":"on_call","source":"default"},"blind":{"mode":"blind","rung":null,"mitigation":"Restore prediction logging; the monitor cannot see this model.","long_term_fix":"Alert on missing logs at the source; add a log-delivery SLO.","owner":"ml_engineer","source":"default"}},"budget":{"amount":60000.0,"currency":"USD","period":"quarter"},"rules":{"persistence_k":2,"persistence_n":3,"co_fire":[],"same_night_tier":3,"step_down_after_days":60,"review_every_days":90},"sla":{"ack_hours":{"1":168.0,"2":24.0,"3":2.0,"4":0.0},"decide_hours":{"1":336.0,"2":72.0,"3":24.0,"4":4.0}},"people":{"alice":["model_owner","ml_lead"],"bob":["model_owner"],"carol":["ml_lead","finance"],"dave":["ml_engineer"]}}',NULL,'');
CREATE TABLE ladder_events (
	id INTEGER NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	kind VARCHAR(64) NOT NULL, 
	note TEXT NOT NULL, 
	payload JSON NOT NULL, 
	occurred_at DATETIME NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	recorded_by VARCHAR(200) NOT NULL, 
	processed_at DATETIME, 
	processed_note TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO ladder_events VALUES(1,'support-assistant','price_change','provider cut prices','{}','2025-04-10 12:00:00.000000','2025-04-10 12:00:00.000000','carol','2025-04-11 02:00:00.000000','reopen on night 2025-04-10');
CREATE TABLE ladder_audit (
	seq INTEGER NOT NULL, 
	at VARCHAR(40) NOT NULL, 
	actor VARCHAR(200) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	subject VARCHAR(200) NOT NULL, 
	reason TEXT NOT NULL, 
	payload TEXT NOT NULL, 
	prev_hash VARCHAR(64) NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (seq)
);
INSERT INTO ladder_audit VALUES(1,'2025-04-09T02:00:00+00:00','modelhealth','decision.watch','model:support-assistant','triggers fired on 1 of the last 3 nights (2025-04-08); persistence needs 2 of 3','{"escalation":null,"events":[],"night":"2025-04-08"}','0000000000000000000000000000000000000000000000000000000000000000','afa6732e8e0e2cffb8ae2b49fa5ab3dbb369b832b7ca39b4eeda9d2842bb79e6');
INSERT INTO ladder_audit VALUES(2,'2025-04-10T02:00:00+00:00','modelhealth','escalation.opened','esc-1','triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met; response matrix: hallucination → retrieval_augmentation; retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month × 3); USD 47,400 of the quarter''s USD 60,000 budget left after it','{"kind":"remediation","mode":"hallucination","model":"support-assistant","register_version":"sha256:test","tier":2}','afa6732e8e0e2cffb8ae2b49fa5ab3dbb369b832b7ca39b4eeda9d2842bb79e6','7eaf82066cc211c5017297d1b1ca311967067bbcd357da9559d8d341c68079b6');
INSERT INTO ladder_audit VALUES(3,'2025-04-10T02:00:00+00:00','modelhealth','step.pending','step-1','triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met; response matrix: hallucination → retrieval_augmentation; retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month × 3); USD 47,400 of the quarter''s USD 60,000 budget left after it','{"approvals_required":1,"cost":12600.0,"currency":"USD","direction":"up","escalation":1,"model":"support-assistant","rung":"retrieval_augmentation"}','7eaf82066cc211c5017297d1b1ca311967067bbcd357da9559d8d341c68079b6','4629f8611fd562d2191e6a2e4f207070c0df8c778a122503f0fca089873b6c0d');
INSERT INTO ladder_audit VALUES(4,'2025-04-10T10:00:00+00:00','bob','step.approve','step-1','retrieval index is ready','{"model":"support-assistant","roles":["model_owner"],"rung":"retrieval_augmentation","verdict":"approval 1 of 1 by bob (model_owner): approved"}','4629f8611fd562d2191e6a2e4f207070c0df8c778a122503f0fca089873b6c0d','4b5e540596d6cdb7f7f1ecdbc1b49e7278b53a744a5d109e46dcd926057da163');
INSERT INTO ladder_audit VALUES(5,'2025-04-10T10:00:00+00:00','bob','step.approved','step-1','approval 1 of 1 by bob (model_owner): approved','{"model":"support-assistant","rung":"retrieval_augmentation"}','4b5e540596d6cdb7f7f1ecdbc1b49e7278b53a744a5d109e46dcd926057da163','20486fe67bf35d5ecf672301cb22a16376776818c72f6429948d53e09e0bd640');
INSERT INTO ladder_audit VALUES(6,'2025-04-10T11:00:00+00:00','dave','step.applied','step-1','retrieval_augmentation applied; evaluation until 2025-04-24','{"evaluation_ends_at":"2025-04-24T11:00:00+00:00","model":"support-assistant","rung":"retrieval_augmentation"}','20486fe67bf35d5ecf672301cb22a16376776818c72f6429948d53e09e0bd640','21ef1e0d66c5f3dff22bf89ae75c8007b2ac49a903871e69136e06cd4e9d8219');
INSERT INTO ladder_audit VALUES(7,'2025-04-10T12:00:00+00:00','carol','event.recorded','model:support-assistant','provider cut prices','{"event":1,"kind":"price_change","occurred_at":"2025-04-10T12:00:00+00:00"}','21ef1e0d66c5f3dff22bf89ae75c8007b2ac49a903871e69136e06cd4e9d8219','a319392f24ccdc1643265d9e15aac589b904b0633833b0544724a47fc60bab31');
INSERT INTO ladder_audit VALUES(8,'2025-04-11T02:00:00+00:00','modelhealth','escalation.policy_refreshed','esc-1','event price_change #1 on 2025-04-10 ("provider cut prices") reopened esc-1 under the current register; retrieval_augmentation (step-1) is evaluating, unchanged','{"register_version":"sha256:test"}','a319392f24ccdc1643265d9e15aac589b904b0633833b0544724a47fc60bab31','ac06a54e0632cb68b51ecff4f0fba61a43db4e8da77e0b4cd8ad7a7cdce3964d');
CREATE TABLE ladder_steps (
	id INTEGER NOT NULL, 
	escalation_id INTEGER NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	rung VARCHAR(64) NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	status VARCHAR(24) NOT NULL, 
	mode VARCHAR(64), 
	tier INTEGER NOT NULL, 
	requested_by VARCHAR(200) NOT NULL, 
	requested_at DATETIME NOT NULL, 
	ack_due_at DATETIME, 
	decide_due_at DATETIME, 
	expire_at DATETIME, 
	acked_at DATETIME, 
	acked_by VARCHAR(200), 
	ack_reminded_at DATETIME, 
	decision_reminded_at DATETIME, 
	escalated_at DATETIME, 
	approved_at DATETIME, 
	applied_at DATETIME, 
	applied_by VARCHAR(200), 
	evaluation_ends_at DATETIME, 
	closed_at DATETIME, 
	cost FLOAT NOT NULL, 
	currency VARCHAR(8) NOT NULL, 
	approvals_required INTEGER NOT NULL, 
	packet JSON NOT NULL, 
	reason TEXT NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(escalation_id) REFERENCES ladder_escalations (id)
);
INSERT INTO ladder_steps VALUES(1,1,'support-assistant','retrieval_augmentation','up','evaluating','hallucination',2,'alice','2025-04-10 02:00:00.000000','2025-04-11 02:00:00.000000','2025-04-13 02:00:00.000000','2025-04-19 02:00:00.000000',NULL,NULL,NULL,NULL,NULL,'2025-04-10 10:00:00.000000','2025-04-10 11:00:00.000000','dave','2025-04-24 11:00:00.000000',NULL,12600.0,'USD',1,'{"summary": "support-assistant has hallucination (tier 2 delivery risk, breached 2 of the last 3 nights): recommend retrieval_augmentation for USD 12,600 (9,000 one-off + 1,200/month \u00d7 3), needing 1 approval from model_owner, not the requester by 2025-04-13 02:00 UTC.", "model_id": "support-assistant", "escalation_kind": "remediation", "direction": "up", "rung": "retrieval_augmentation", "rung_title": "Retrieval augmentation", "tier": 2, "tier_name": "delivery risk", "rule": "persistence", "rule_reason": "triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met", "evidence": ["2025-04-08: quality = 0.8 (limit 0.88, tier 2)", "2025-04-09: quality = 0.8 (limit 0.88, tier 2)"], "failure_mode": "hallucination", "failure_mode_how": "dominant failure mode", "failure_modes": {"hallucination": 1.0}, "mitigation": "Require citations and route uncited answers to human review.", "long_term_fix": "Ground answers in a retrieved, maintained source of truth.", "resolution_owner": "model_owner", "recommendation_reason": "response matrix: hallucination \u2192 retrieval_augmentation", "rungs_tried": [], "entry_criteria": "Wrong or invented facts about things the model cannot know or must cite, and a maintained source of truth (policies, catalogue, knowledge base) exists to retrieve from.", "evaluation_days": 14, "cost_total": 12600.0, "cost_one_off": 9000.0, "cost_monthly": 1200.0, "cost_months": 3, "currency": "USD", "cost_text": "USD 12,600 (9,000 one-off + 1,200/month \u00d7 3)", "budget": "retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month \u00d7 3); USD 47,400 of the quarter''s USD 60,000 budget left after it", "unblock": null, "approval_policy": "1 approval from model_owner, not the requester", "approvals_required": 1, "approvers": ["bob"], "requested_by": "alice", "ack_by": "2025-04-11T02:00:00Z", "decide_by": "2025-04-13T02:00:00Z"}','applied by dave',2);
CREATE TABLE ladder_approvals (
	id INTEGER NOT NULL, 
	step_id INTEGER NOT NULL, 
	person VARCHAR(200) NOT NULL, 
	roles JSON NOT NULL, 
	decision VARCHAR(8) NOT NULL, 
	reason TEXT NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_one_decision_per_person UNIQUE (step_id, person), 
	FOREIGN KEY(step_id) REFERENCES ladder_steps (id)
);
INSERT INTO ladder_approvals VALUES(1,1,'bob','["model_owner"]','approve','retrieval index is ready','2025-04-10 10:00:00.000000');
CREATE TABLE ladder_notifications (
	id INTEGER NOT NULL, 
	model_id VARCHAR(200) NOT NULL, 
	step_id INTEGER, 
	kind VARCHAR(32) NOT NULL, 
	recipients JSON NOT NULL, 
	payload JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	last_error TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(step_id) REFERENCES ladder_steps (id)
);
INSERT INTO ladder_notifications VALUES(1,'support-assistant',1,'approval_requested','["bob"]','{"decision": "open_escalation", "due_at": "2025-04-13T02:00:00+00:00", "reason": "triggers fired on 2 of the last 3 nights (2025-04-08, 2025-04-09): persistence rule 2 of 3 met; response matrix: hallucination \u2192 retrieval_augmentation; retrieval_augmentation costs USD 12,600 (9,000 one-off + 1,200/month \u00d7 3); USD 47,400 of the quarter''s USD 60,000 budget left after it", "rung": "retrieval_augmentation", "summary": "support-assistant has hallucination (tier 2 delivery risk, breached 2 of the last 3 nights): recommend retrieval_augmentation for USD 12,600 (9,000 one-off + 1,200/month \u00d7 3), needing 1 approval from model_owner, not the requester by 2025-04-13 02:00 UTC."}','pending',0,'2025-04-10 02:00:00.000000','2025-04-10 02:00:00.000000',NULL,'');
CREATE INDEX ix_escalation_open ON ladder_escalations (model_id, status);
CREATE INDEX ix_ladder_escalations_model_id ON ladder_escalations (model_id);
CREATE INDEX ix_ladder_events_model_id ON ladder_events (model_id);
CREATE INDEX ix_ladder_steps_model_id ON ladder_steps (model_id);
CREATE INDEX ix_notification_due ON ladder_notifications (status, next_attempt_at);
COMMIT;
