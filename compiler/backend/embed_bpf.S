/* The BPF program object built from bpf/secpol.bpf.c, embedded in secpol so
 * `secpol compile` needs no files besides the policy. */
	.section .rodata
	.global secpol_bpf_obj_start
	.global secpol_bpf_obj_end
	.balign 8
secpol_bpf_obj_start:
	.incbin SECPOL_BPF_OBJ
secpol_bpf_obj_end:
/* The same program built with the `log` path (-DSECPOL_LOG_PATH). */
	.global secpol_bpf_log_obj_start
	.global secpol_bpf_log_obj_end
	.balign 8
secpol_bpf_log_obj_start:
	.incbin SECPOL_BPF_LOG_OBJ
secpol_bpf_log_obj_end:
/* The same program with the filters inline (-DSECPOL_DECIDE_INLINE). */
	.global secpol_bpf_inline_obj_start
	.global secpol_bpf_inline_obj_end
	.balign 8
secpol_bpf_inline_obj_start:
	.incbin SECPOL_BPF_INLINE_OBJ
secpol_bpf_inline_obj_end:
/* The inline program without the opaque store (-DSECPOL_OPAQUE_RECORD=0). */
	.global secpol_bpf_inline_direct_obj_start
	.global secpol_bpf_inline_direct_obj_end
	.balign 8
secpol_bpf_inline_direct_obj_start:
	.incbin SECPOL_BPF_INLINE_DIRECT_OBJ
secpol_bpf_inline_direct_obj_end:
	.section .note.GNU-stack,"",@progbits
