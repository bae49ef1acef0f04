/* The BPF program object built from bpf/secpol.bpf.c, embedded in secpol so
 * `secpol compile` needs no files besides the policy. */
	.section .rodata
	.global secpol_bpf_obj_start
	.global secpol_bpf_obj_end
	.balign 8
secpol_bpf_obj_start:
	.incbin SECPOL_BPF_OBJ
secpol_bpf_obj_end:
	.section .note.GNU-stack,"",@progbits
